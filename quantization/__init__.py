"""talkies.quantization"""
