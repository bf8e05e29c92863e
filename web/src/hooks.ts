// What the views ask of the page, given by page.ts when it loads: a view calls these and never
// imports the page, so no module imports one that imports it back.

export const page = {
  /** Draws the page again from `state`. */
  render: (): void => {},
  /** Reads the invoices and the action log again (after a change that adds to them). */
  refreshHistory: async (): Promise<void> => {},
  /** Reads the purchase requests again (R35). */
  refreshRequests: async (): Promise<void> => {},
};
