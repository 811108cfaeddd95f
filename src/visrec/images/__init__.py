"""visrec.images"""
