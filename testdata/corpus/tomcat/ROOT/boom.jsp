<%@ page session="false" %><%
if (true) { throw new IllegalStateException("Order 42 could not be saved: the stock service did not answer"); }
%>
