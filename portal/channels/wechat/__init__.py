"""The WeChat Official Account adapter: its message push protocol (plaintext and compatible mode)."""
