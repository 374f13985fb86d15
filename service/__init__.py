"""Web layer: settings, the scoring service shared by every channel, REST routes and the Gradio UI."""
