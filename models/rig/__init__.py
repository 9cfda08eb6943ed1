"""The ARKit face rig: its data (arkit_rig.npz, loaded by talkies.runtime.rig) and its authoring."""
