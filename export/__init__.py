"""talkies.export"""
