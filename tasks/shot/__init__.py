"""The shot and its stages: each paid take a shot is made of (panel, video, speech, lip-sync, face swap,
upscale, a recipe's edit), what a take is given, the one take loop, and the requests a shot will send.
A new capability's stage goes here; its gate goes in tasks/gates/."""
