import { useRef, useState, type FormEvent, type KeyboardEvent } from 'react';
import { describeError } from '../../api/errors';
import { codePointLength, newIdempotencyKey } from '../../lib/text';
import { useAuth } from '../auth/AuthContext';

interface ContentSubmitOptions<T> {
  maxLength: number;
  /** Shown when someone who is not logged in tries to write. */
  loginMessage: string;
  /** Sends the text; the key is the same for every retry of one attempt. */
  send: (content: string, idempotencyKey: string) => Promise<T>;
  onSent: (result: T) => void;
  onCancel?: () => void;
}

/**
 * The text, length check and submission shared by the post composer and the
 * comment form. One attempt (one text) keeps one `Idempotency-Key` across
 * retries, so a double click or a retry after a network error never creates
 * twice; a new text is a new attempt with a new key.
 */
export function useContentSubmit<T>({ maxLength, loginMessage, send, onSent, onCancel }: ContentSubmitOptions<T>) {
  const { user, requireUser } = useAuth();
  const [content, setContentState] = useState('');
  const [submitting, setSubmitting] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const inFlight = useRef(false);
  const attempt = useRef<{ content: string; key: string } | null>(null);

  const length = codePointLength(content);
  const tooLong = length > maxLength;
  const canSubmit = content.trim() !== '' && !tooLong && !submitting;

  async function submit() {
    if (!requireUser(loginMessage) || !canSubmit || inFlight.current) return;
    inFlight.current = true;
    if (attempt.current?.content !== content) attempt.current = { content, key: newIdempotencyKey() };
    setSubmitting(true);
    setError(null);
    try {
      const result = await send(content, attempt.current.key);
      attempt.current = null;
      setContentState('');
      onSent(result);
    } catch (caught) {
      setError(describeError(caught));
    } finally {
      inFlight.current = false;
      setSubmitting(false);
    }
  }

  function handleSubmit(event: FormEvent) {
    event.preventDefault();
    void submit();
  }

  function handleKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (event.key === 'Enter' && (event.metaKey || event.ctrlKey)) {
      event.preventDefault();
      void submit();
    } else if (event.key === 'Escape' && onCancel) {
      onCancel();
    }
  }

  function handleFocus() {
    if (user === null) requireUser(loginMessage);
  }

  return {
    user,
    content,
    setContent: setContentState,
    length,
    tooLong,
    canSubmit,
    submitting,
    error,
    handleSubmit,
    handleKeyDown,
    handleFocus,
    /** The submit button is enabled for anonymous visitors, so a click can ask them to log in. */
    submitDisabled: user !== null && user !== undefined && !canSubmit,
  };
}
