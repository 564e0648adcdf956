"""The WeChat Official Account adapter: its message push protocol (plaintext, compatible and safe mode)."""
