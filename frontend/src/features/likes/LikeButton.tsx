import type { Like, LikeTarget } from '../../state/types';
import { useToggleLike } from './useToggleLike';

interface LikeButtonProps {
  target: LikeTarget;
  id: number;
  like: Like;
  size?: 'sm' | 'md';
}

export function LikeButton({ target, id, like, size = 'md' }: LikeButtonProps) {
  const toggleLike = useToggleLike();
  const { count, liked } = like;
  const pending = like.pending !== undefined;
  const label = `${liked ? 'Unlike' : 'Like'} this ${target} (${count} ${count === 1 ? 'like' : 'likes'})`;
  return (
    <button
      type="button"
      aria-label={label}
      aria-pressed={liked}
      aria-busy={pending || undefined}
      data-testid={`like-${target}-${id}`}
      onClick={() => {
        if (!pending) void toggleLike(target, id, !liked);
      }}
      className={`group inline-flex items-center gap-1.5 rounded-full font-medium transition-colors focus-visible:outline-2 focus-visible:outline-offset-1 focus-visible:outline-rose-400 ${
        size === 'sm' ? 'px-2 py-0.5 text-xs' : 'px-3 py-1 text-sm'
      } ${liked ? 'bg-rose-50 text-rose-600 hover:bg-rose-100' : 'text-stone-500 hover:bg-stone-100 hover:text-stone-800'}`}
    >
      <svg
        aria-hidden="true"
        viewBox="0 0 24 24"
        className={`${size === 'sm' ? 'h-3.5 w-3.5' : 'h-4 w-4'} transition-transform group-active:scale-90`}
        fill={liked ? 'currentColor' : 'none'}
        stroke="currentColor"
        strokeWidth={2}
      >
        <path
          strokeLinejoin="round"
          d="M12 20.5s-7.5-4.4-7.5-10.1A4.4 4.4 0 0 1 12 7.6a4.4 4.4 0 0 1 7.5 2.8c0 5.7-7.5 10.1-7.5 10.1Z"
        />
      </svg>
      {/* Keyed by the count so a change, local or live, replays the small bump. */}
      <span key={count} className="count-bump tabular-nums" data-testid={`like-count-${target}-${id}`}>
        {count}
      </span>
    </button>
  );
}
