/** Bulk import of members from a CSV file (admins). */
import { request } from '../../core/api.js';
import { createStore } from '../../core/store.js';

/** `{ result, rowErrors, error }` of the last run. */
export const importer = createStore({ result: null, rowErrors: [], error: null });

export function resetImport() {
  importer.set({ result: null, rowErrors: [], error: null });
}

/** Sends the file; a file with bad rows is refused whole and its row errors are kept. */
export async function importMembers(orgId, csv, dryRun) {
  resetImport();
  try {
    const result = await request('POST', `/api/v1/orgs/${orgId}/members/import`, {
      body: csv,
      contentType: 'text/csv',
      query: { dryRun: dryRun ? 'true' : undefined },
      create: !dryRun,
    });
    importer.set({ result });
  } catch (error) {
    importer.set({ error, rowErrors: error.code === 'import_invalid' ? error.errors : [] });
  }
}
