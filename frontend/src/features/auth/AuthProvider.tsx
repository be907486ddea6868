import { useCallback, useEffect, useMemo, useState, type ReactNode } from 'react';
import { api } from '../../api/client';
import { describeError } from '../../api/errors';
import type { Credentials, User } from '../../api/types';
import { useToast } from '../../components/toastContext';
import { AuthContext, type AuthContextValue, type AuthMode } from './AuthContext';
import { AuthDialog } from './AuthDialog';

interface DialogState {
  mode: AuthMode;
  reason?: string;
}

export function AuthProvider({ children }: { children: ReactNode }) {
  const [user, setUser] = useState<User | null | undefined>(undefined);
  const [dialog, setDialog] = useState<DialogState | null>(null);
  const { showError } = useToast();

  useEffect(() => {
    const controller = new AbortController();
    api
      .me(controller.signal)
      .then(setUser)
      .catch((error: unknown) => {
        if (controller.signal.aborted) return;
        setUser(null);
        showError(`Could not check your session: ${describeError(error)}`);
      });
    // Fetch the CSRF cookie early so the first write does not wait for it.
    api.csrf().catch(() => undefined);
    return () => controller.abort();
  }, [showError]);

  const login = useCallback(async (credentials: Credentials) => {
    const signedIn = await api.login(credentials);
    setUser(signedIn);
    return signedIn;
  }, []);

  const signup = useCallback(async (credentials: Credentials) => {
    const created = await api.signup(credentials);
    setUser(created);
    return created;
  }, []);

  const logout = useCallback(async () => {
    try {
      await api.logout();
      setUser(null);
    } catch (error) {
      showError(`Could not log out: ${describeError(error)}`);
    }
  }, [showError]);

  const openAuthDialog = useCallback((mode: AuthMode, reason?: string) => setDialog({ mode, reason }), []);

  const requireUser = useCallback(
    (reason: string) => {
      if (user) return true;
      setDialog({ mode: 'login', reason });
      return false;
    },
    [user],
  );

  const value = useMemo<AuthContextValue>(
    () => ({ user, login, signup, logout, openAuthDialog, requireUser }),
    [user, login, signup, logout, openAuthDialog, requireUser],
  );

  return (
    <AuthContext.Provider value={value}>
      {children}
      {dialog && (
        <AuthDialog
          key={dialog.mode}
          initialMode={dialog.mode}
          reason={dialog.reason}
          onClose={() => setDialog(null)}
        />
      )}
    </AuthContext.Provider>
  );
}
