"""visrec.analysis"""
