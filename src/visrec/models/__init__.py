"""visrec.models"""
