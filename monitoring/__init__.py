"""Monitoring: the prediction log, its Hub sync, drift analysis and reports."""
