import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { ApiError, describeError } from '../../api/errors';
import { useAuth, type AuthMode } from './AuthContext';

interface AuthDialogProps {
  initialMode: AuthMode;
  reason?: string;
  onClose: () => void;
}

const USERNAME_PATTERN = '[A-Za-z0-9_\\-]{3,30}';

export function AuthDialog({ initialMode, reason, onClose }: AuthDialogProps) {
  const { login, signup } = useAuth();
  const [mode, setMode] = useState<AuthMode>(initialMode);
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [submitting, setSubmitting] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [fieldErrors, setFieldErrors] = useState<Record<string, string[]>>({});
  const titleId = useId();
  const dialogRef = useRef<HTMLDialogElement>(null);

  useEffect(() => {
    const dialog = dialogRef.current;
    if (dialog && !dialog.open) {
      // jsdom has no showModal; the dialog is still rendered open there.
      if (typeof dialog.showModal === 'function') dialog.showModal();
      else dialog.setAttribute('open', '');
    }
  }, []);

  const isSignup = mode === 'signup';

  async function handleSubmit(event: FormEvent) {
    event.preventDefault();
    setSubmitting(true);
    setError(null);
    setFieldErrors({});
    try {
      const credentials = { username: username.trim(), password };
      await (isSignup ? signup(credentials) : login(credentials));
      onClose();
    } catch (caught) {
      setError(describeError(caught));
      if (caught instanceof ApiError) setFieldErrors(caught.fieldErrors);
    } finally {
      setSubmitting(false);
    }
  }

  function switchMode(next: AuthMode) {
    setMode(next);
    setError(null);
    setFieldErrors({});
  }

  return (
    <dialog
      ref={dialogRef}
      aria-labelledby={titleId}
      onCancel={(event) => {
        event.preventDefault();
        onClose();
      }}
      onClick={(event) => {
        if (event.target === dialogRef.current) onClose();
      }}
      className="m-auto w-[min(26rem,calc(100vw-2rem))] rounded-2xl bg-white p-0 shadow-2xl backdrop:bg-stone-900/40 backdrop:backdrop-blur-sm"
    >
      <form onSubmit={handleSubmit} className="p-6" noValidate>
        <div className="flex items-start justify-between gap-4">
          <div>
            <h2 id={titleId} className="text-lg font-semibold text-stone-900">
              {isSignup ? 'Create your account' : 'Welcome back'}
            </h2>
            <p className="mt-1 text-sm text-stone-500">
              {reason ?? (isSignup ? 'Join the conversation in a few seconds.' : 'Log in to post, reply and like.')}
            </p>
          </div>
          <button
            type="button"
            onClick={onClose}
            aria-label="Close"
            className="-mr-2 -mt-1 rounded-lg p-2 text-stone-400 hover:bg-stone-100 hover:text-stone-700 focus-visible:outline-2 focus-visible:outline-indigo-500"
          >
            ✕
          </button>
        </div>

        <label className="mt-5 block text-sm font-medium text-stone-700">
          Username
          <input
            name="username"
            autoComplete="username"
            autoFocus
            required
            pattern={USERNAME_PATTERN}
            value={username}
            onChange={(event) => setUsername(event.target.value)}
            aria-invalid={fieldErrors.username ? true : undefined}
            className="mt-1 block w-full rounded-lg border border-stone-300 px-3 py-2 text-stone-900 shadow-sm outline-none focus:border-indigo-500 focus:ring-2 focus:ring-indigo-200"
          />
        </label>
        {isSignup && <p className="mt-1 text-xs text-stone-500">3 to 30 letters, digits, _ or -.</p>}

        <label className="mt-4 block text-sm font-medium text-stone-700">
          Password
          <input
            name="password"
            type="password"
            autoComplete={isSignup ? 'new-password' : 'current-password'}
            required
            value={password}
            onChange={(event) => setPassword(event.target.value)}
            aria-invalid={fieldErrors.password ? true : undefined}
            className="mt-1 block w-full rounded-lg border border-stone-300 px-3 py-2 text-stone-900 shadow-sm outline-none focus:border-indigo-500 focus:ring-2 focus:ring-indigo-200"
          />
        </label>

        {error && (
          <p role="alert" className="mt-4 rounded-lg bg-rose-50 px-3 py-2 text-sm text-rose-800">
            {error}
          </p>
        )}

        <button
          type="submit"
          disabled={submitting || username.trim() === '' || password === ''}
          className="mt-5 w-full rounded-lg bg-indigo-600 px-4 py-2.5 text-sm font-semibold text-white shadow-sm hover:bg-indigo-700 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-600 disabled:cursor-not-allowed disabled:opacity-50"
        >
          {submitting ? 'Please wait…' : isSignup ? 'Sign up' : 'Log in'}
        </button>

        <p className="mt-4 text-center text-sm text-stone-500">
          {isSignup ? 'Already have an account?' : 'New here?'}{' '}
          <button
            type="button"
            onClick={() => switchMode(isSignup ? 'login' : 'signup')}
            className="font-medium text-indigo-600 hover:underline focus-visible:outline-2 focus-visible:outline-indigo-500"
          >
            {isSignup ? 'Log in' : 'Create an account'}
          </button>
        </p>
      </form>
    </dialog>
  );
}
