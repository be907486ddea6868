import { Link } from 'react-router-dom';

/** The breadcrumb above a page that is not the feed, back to the feed. */
export function BackToFeed() {
  return (
    <nav aria-label="Breadcrumb" className="text-sm">
      <Link to="/" className="text-stone-500 hover:text-stone-900 hover:underline">
        ← Feed
      </Link>
    </nav>
  );
}
