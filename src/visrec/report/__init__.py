"""visrec.report"""
