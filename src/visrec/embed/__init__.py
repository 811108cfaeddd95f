"""visrec.embed"""
