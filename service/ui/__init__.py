"""Gradio Blocks: one module per tab, assembled by `build_ui`."""
