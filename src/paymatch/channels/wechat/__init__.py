"""WeChat Pay (API v3): bill parser (``bill``), signed bill download (``api``), notifications (``notify``)."""
