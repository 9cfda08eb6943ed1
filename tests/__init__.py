"""talkies.tests"""
