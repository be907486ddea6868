import { createContext, useContext } from 'react';
import type { Credentials, User } from '../../api/types';

export type AuthMode = 'login' | 'signup';

export interface AuthContextValue {
  /** `undefined` while the session is being checked, `null` when anonymous. */
  user: User | null | undefined;
  login: (credentials: Credentials) => Promise<User>;
  signup: (credentials: Credentials) => Promise<User>;
  logout: () => Promise<void>;
  /** Opens the sign-in dialog, with a reason when an anonymous visitor tried to write. */
  openAuthDialog: (mode: AuthMode, reason?: string) => void;
  /** True when logged in; otherwise asks the visitor to log in and returns false. */
  requireUser: (reason: string) => boolean;
}

export const AuthContext = createContext<AuthContextValue | null>(null);

export function useAuth(): AuthContextValue {
  const value = useContext(AuthContext);
  if (!value) throw new Error('useAuth must be used inside <AuthProvider>');
  return value;
}
