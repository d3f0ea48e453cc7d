"""Adapters to files: workbook readers and writers, the plan file, chart images."""
