"""Reports from a workspace: reconciliation (daily/weekly/monthly), fund flow with drill-down, anomalies; one report model rendered as Excel, CSV and JSON."""
