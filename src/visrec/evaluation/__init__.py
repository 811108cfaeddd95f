"""visrec.evaluation"""
