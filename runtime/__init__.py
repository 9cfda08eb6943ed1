"""talkies.runtime"""
