"""What a recorder's media is: file names and start times, probing, playback copies,
thumbnails, recordings and the joining of their segments (no database, no custody)."""
