"""Kokoro-82M text-to-speech: fetching the model and voices, and the fetch-time ONNX graph edits."""
