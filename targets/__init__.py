"""talkies.targets"""
