import { api } from '../../api/client';
import { Avatar } from '../../components/Avatar';
import { MAX_POST_LENGTH } from '../../generated/limits';
import { useLiveDispatch } from '../../state/store';
import { useContentSubmit } from '../compose/useContentSubmit';

export function Composer() {
  const dispatch = useLiveDispatch();
  const form = useContentSubmit({
    maxLength: MAX_POST_LENGTH,
    loginMessage: 'Log in to share a post.',
    send: (content, key) => api.createPost(content, key),
    onSent: (post) => dispatch({ type: 'post.published', post }),
  });
  const { user, content, length, tooLong, error } = form;

  return (
    <form
      onSubmit={form.handleSubmit}
      aria-label="New post"
      className="rounded-2xl border border-stone-200 bg-white p-4 shadow-sm focus-within:border-indigo-300 focus-within:ring-4 focus-within:ring-indigo-50"
    >
      <div className="flex gap-3">
        <div className="hidden sm:block">
          {user ? (
            <Avatar username={user.username} />
          ) : (
            <span className="inline-block h-9 w-9 rounded-full bg-stone-100" aria-hidden="true" />
          )}
        </div>
        <label className="flex-1">
          <span className="sr-only">What is on your mind?</span>
          <textarea
            name="content"
            value={content}
            onChange={(event) => form.setContent(event.target.value)}
            onFocus={form.handleFocus}
            onKeyDown={form.handleKeyDown}
            rows={content.length > 140 ? 5 : 2}
            placeholder={user ? `What is on your mind, ${user.username}?` : 'Log in to share something with everyone'}
            className="block w-full resize-none border-0 bg-transparent p-1 text-[15px] leading-relaxed text-stone-900 placeholder:text-stone-400 focus:outline-none"
          />
        </label>
      </div>
      {error && (
        <p role="alert" className="mt-2 rounded-lg bg-rose-50 px-3 py-2 text-sm text-rose-800">
          {error}
        </p>
      )}
      <div className="mt-2 flex items-center justify-end gap-3">
        {length > MAX_POST_LENGTH * 0.9 && (
          <span className={`text-xs tabular-nums ${tooLong ? 'text-rose-600' : 'text-stone-400'}`}>
            {length.toLocaleString()} / {MAX_POST_LENGTH.toLocaleString()}
          </span>
        )}
        <span className="hidden text-xs text-stone-400 sm:inline">Ctrl + Enter to post</span>
        <button
          type="submit"
          disabled={form.submitDisabled}
          className="rounded-lg bg-indigo-600 px-4 py-1.5 text-sm font-semibold text-white shadow-sm hover:bg-indigo-700 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-600 disabled:cursor-not-allowed disabled:opacity-40"
        >
          {form.submitting ? 'Posting…' : 'Post'}
        </button>
      </div>
    </form>
  );
}
