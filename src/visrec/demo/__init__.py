"""visrec.demo"""
