"""MediaPipe face models: assets, constants, the TFLite importer (toolchain side) and face crops."""
