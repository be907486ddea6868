import '@testing-library/jest-dom/vitest';
import { cleanup, configure } from '@testing-library/react';
import { afterEach } from 'vitest';

// `findBy…` and `waitFor` wait for a condition; on a loaded CI machine a first
// render can take longer than the default second, so give conditions room.
configure({ asyncUtilTimeout: 5_000 });

afterEach(() => {
  cleanup();
});
