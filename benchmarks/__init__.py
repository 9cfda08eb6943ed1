"""talkies.benchmarks"""
