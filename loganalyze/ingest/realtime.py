"""(format readers of this family are registered here)"""
