"""What a recorder's media is: file names and start times, probing, playback copies,
thumbnails, recordings and the joining of their segments. Reads stored objects
(``storage.objects``) but never the database or the custody log."""
