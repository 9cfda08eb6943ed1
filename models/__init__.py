"""talkies.models"""
