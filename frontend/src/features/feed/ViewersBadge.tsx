/** "N here": how many people have this post open right now, across every server. */
export function ViewersBadge({ postId, count }: { postId: number; count: number }) {
  if (count <= 0) return null;
  return (
    <span
      data-testid={`viewers-${postId}`}
      title={`${count} ${count === 1 ? 'person has' : 'people have'} this post open now`}
      className="inline-flex items-center gap-1.5 px-2 text-xs font-medium text-emerald-700"
    >
      <span aria-hidden="true" className="h-1.5 w-1.5 rounded-full bg-emerald-500" />
      <span className="tabular-nums">{count}</span> here
    </span>
  );
}
