<%@ page session="false" %><%
response.sendError(409, "Order 42 is at version 7; you edited version 6. Reload it and apply your change again.");
%>
