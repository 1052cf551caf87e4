"""The faust-streaming app: normalize, index, detect, notify; pure cores under thin agents."""
