"""visrec.search"""
