"""Categories (segmentation), money (payments, services rendered) and reports."""
