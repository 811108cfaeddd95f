"""visrec.data"""
