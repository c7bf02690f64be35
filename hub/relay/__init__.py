"""Publishing the event log on NATS: every recorded event on `events.<entity>.<EventType>`."""
