/** What a ticket is, for the provider and, through the declarations, its consumers. */
export interface Ticket {
  id: number;
  title: string;
  status: 'open' | 'closed';
}

const tickets: Ticket[] = [
  { id: 1, title: 'Login page times out', status: 'open' },
  { id: 2, title: 'Printer on floor 3 is jammed', status: 'open' },
  { id: 3, title: 'VPN drops every hour', status: 'closed' },
];

export function findTicket(id: number): Ticket | undefined {
  return tickets.find((ticket) => ticket.id === id);
}

export function newestTickets(n: number): Ticket[] {
  return tickets.slice(-n).reverse();
}
