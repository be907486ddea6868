// Written by `cd backend && .venv/bin/python manage.py write_frontend_limits` from the server's own limits: do not edit by hand.

/** Content limits of the REST API, in code points as the server counts them. */
export const MAX_POST_LENGTH = 10_000;
export const MAX_COMMENT_LENGTH = 5_000;
/** The server follows at most this many posts per socket. */
export const MAX_FOLLOWED_POSTS = 100;
/** Karma and the leaderboard count the likes of this many hours back. */
export const KARMA_WINDOW_HOURS = 24;
