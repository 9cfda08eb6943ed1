"""talkies.kernels"""
