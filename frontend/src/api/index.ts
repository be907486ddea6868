export { api, request, readCookie, toRelativeUrl } from './client';
export { ApiError, describeError, errorFromBody } from './errors';
export type * from './types';
