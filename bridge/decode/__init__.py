"""Record decoding: framing, code pages, the native batch decoder and its pure-Python reference."""
