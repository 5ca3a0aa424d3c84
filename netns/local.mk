# netns/: rtnetlink through libmnl (issue 4).
