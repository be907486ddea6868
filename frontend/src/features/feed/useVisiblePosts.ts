import { useCallback, useEffect, useRef, useState } from 'react';

/**
 * Tracks which post cards are on screen (with a margin above and below), so the
 * socket follows the posts a reader can see rather than everything ever loaded.
 * Cards register their element; without IntersectionObserver every card counts as visible.
 */
export function useVisiblePosts(): {
  register: (element: HTMLElement, postId: number) => () => void;
  visibleIds: number[];
} {
  const [visible, setVisible] = useState<ReadonlySet<number>>(new Set());
  const elements = useRef(new Map<HTMLElement, number>());
  const observer = useRef<IntersectionObserver | null>(null);

  const mark = useCallback((changes: [number, boolean][]) => {
    setVisible((current) => {
      const next = new Set(current);
      for (const [id, isVisible] of changes) {
        if (isVisible) next.add(id);
        else next.delete(id);
      }
      return next.size === current.size && [...next].every((id) => current.has(id)) ? current : next;
    });
  }, []);

  useEffect(() => {
    if (typeof IntersectionObserver === 'undefined') return;
    const instance = new IntersectionObserver(
      (entries) => {
        const changes: [number, boolean][] = [];
        for (const entry of entries) {
          const id = elements.current.get(entry.target as HTMLElement);
          if (id !== undefined) changes.push([id, entry.isIntersecting]);
        }
        mark(changes);
      },
      { rootMargin: '600px 0px' },
    );
    observer.current = instance;
    for (const element of elements.current.keys()) instance.observe(element);
    return () => {
      instance.disconnect();
      observer.current = null;
    };
  }, [mark]);

  const register = useCallback(
    (element: HTMLElement, postId: number) => {
      elements.current.set(element, postId);
      if (observer.current) observer.current.observe(element);
      else if (typeof IntersectionObserver === 'undefined') mark([[postId, true]]);
      return () => {
        elements.current.delete(element);
        observer.current?.unobserve(element);
        mark([[postId, false]]);
      };
    },
    [mark],
  );

  return { register, visibleIds: [...visible].sort((a, b) => b - a) };
}
