"""Message catalogs (package data): en.yaml, zh_CN.yaml."""
